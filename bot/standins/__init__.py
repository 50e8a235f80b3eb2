"""Local stand-ins that speak the real wire formats over real HTTP.

They power the tests, the sandbox and the benchmark; nothing here is used
when the bot talks to the real services.
"""
