"""Parsers for landed exports: each turns raw files into pseudonymised bronze rows + rejections."""
