# COLAM in the paper's form (target y @ S, T = 2, no guard) on the glyph data
# set: 4 stages of 3 epochs, K = 100 peers per class.
_base_ = ['../baselines/smallconvnet_1xb128-hl_glyphs.py']
model = dict(head=dict(type='COLAMHead', target='paper', temperature=2.0,
                       loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=3)]
