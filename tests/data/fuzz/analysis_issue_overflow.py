# Issue 9's reproducers for the range analysis (OverflowError, ZeroDivisionError).
from keras import ops


def exp_of_large(y_true, y_pred):
    return ops.mean(ops.exp(ops.maximum(y_pred, 1000.0)), axis=-1)


def square_of_large(y_true, y_pred):
    return ops.mean(ops.square(ops.maximum(y_pred, 1e200)), axis=-1)


def reciprocal_of_empty_clip(y_true, y_pred):
    return ops.mean(1.0 / ops.clip(y_true + 3.0, y_pred, 0.0), axis=-1)
