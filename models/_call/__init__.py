"""models._call"""
