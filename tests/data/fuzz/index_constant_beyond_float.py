# Issue 9: module constants beyond a float (OverflowError in the index) and a power tower
# (constant folding computed it: a hang).
import keras

EPS = 10**400
TOWER = 9 ** 9 ** 9


def eps_loss(y_true, y_pred):
    big = 9 ** 9 ** 9 * 2
    return keras.ops.mean(keras.ops.log(y_pred + EPS) * TOWER * big, axis=-1)
