"""models._observe"""
