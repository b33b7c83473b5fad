"""Reasoning steps: each holds its prompt as a constant, calls one specialist, parses the reply.

Agents never build specialists or touch the run store; graphs call them with the specialist
bound to their role.
"""
