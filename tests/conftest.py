import os.path as osp
import sys

# Tests import helpers such as ``fake_data`` from this folder.
sys.path.insert(0, osp.dirname(__file__))
