# COLAM in the paper's form (target y @ S, T = 2, no guard) on the glyph data
# set: 6 stages of 5 epochs, K = 100 peers per class.
_base_ = ['../baselines/preact-resnet18-w8_1xb64-hl_glyphs.py']
model = dict(head=dict(type='COLAMHead', target='paper', temperature=2.0,
                       loss=dict(use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5)]
