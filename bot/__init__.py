"""banana: a Slack bot that turns a sentence into a picture with nano-banana2."""

__version__ = "0.1.0"
