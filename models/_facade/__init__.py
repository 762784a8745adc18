"""models._facade"""
