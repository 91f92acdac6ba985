"""The AWS adapter: the only package that imports botocore. Development never imports it.

`session` makes clients and turns SDK exceptions into our own errors, `deadline` runs calls
concurrently within one deadline, and each service has a module of its own.
"""
