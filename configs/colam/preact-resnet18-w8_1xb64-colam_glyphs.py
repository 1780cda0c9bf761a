# COLAM with its defaults on the narrow PreActResNet-18 (glyph data set): 6
# stages of 5 epochs, K = 100 peers per class. The settings are COLAMHead's
# and SoftLabelHook's defaults, chosen on validation data (README, "How the
# defaults were chosen").
_base_ = ['../baselines/preact-resnet18-w8_1xb64-hl_glyphs.py']
model = dict(
    head=dict(
        type='COLAMHead',
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='SoftLabelHook', interval=5)]
