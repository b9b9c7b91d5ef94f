"""alignscope: did this fine-tune break the model's safety, by how much, and why?"""

__version__ = "0.1.0"
