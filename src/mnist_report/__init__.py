"""Regenerates the TDT4265 Assignment 1 report: logistic and softmax regression on MNIST in NumPy."""
