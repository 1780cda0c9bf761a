# COLAM with its defaults on the small CNN (glyph data set, under-fitting
# regime): 4 stages of 3 epochs, K = 100 peers per class. The settings are
# COLAMHead's and SoftLabelHook's defaults, chosen on validation data
# (README, "How the defaults were chosen").
_base_ = ['../baselines/smallconvnet_1xb128-hl_glyphs.py']
model = dict(
    head=dict(
        type='COLAMHead',
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=3)]
