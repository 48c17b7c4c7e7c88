"""Grounded answers: evidence -> prompt -> generator -> verification -> cited answer."""
