from alignscope.cli import main

main()
