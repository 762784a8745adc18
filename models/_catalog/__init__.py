"""models._catalog"""
