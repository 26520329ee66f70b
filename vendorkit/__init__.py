"""Standalone kit for vendors of the Service Market: signing, reference vendor, conformance.

Standard library only (tests aside); never imports the market or Django.
"""
