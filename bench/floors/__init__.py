"""Floors: the same protocol on bare servers, to divide our figures by."""
