import os, json, warnings
warnings.filterwarnings("ignore")
import keras
from keras.src import losses, metrics
ok_l = []; ok_m = []
for k in sorted(losses.ALL_OBJECTS_DICT):
    try: keras.losses.get(k); ok_l.append(k)
    except Exception as e: print("loss-reject", k, type(e).__name__)
for k in sorted(metrics.ALL_OBJECTS_DICT):
    try: keras.metrics.get(k); ok_m.append(k)
    except Exception as e: print("metric-reject", k, type(e).__name__)
json.dump({"losses": ok_l, "metrics": ok_m}, open("/tmp/k3ids.json", "w"))
