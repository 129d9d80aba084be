__version__ = "0.0.1"

from .core import *
