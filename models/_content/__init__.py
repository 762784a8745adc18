"""models._content"""
