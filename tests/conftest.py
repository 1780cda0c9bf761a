import sys
import os.path as osp
import warnings

# Tests import helpers such as ``fake_data`` from this folder.
sys.path.insert(0, osp.dirname(__file__))
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
