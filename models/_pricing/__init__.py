"""models._pricing"""
