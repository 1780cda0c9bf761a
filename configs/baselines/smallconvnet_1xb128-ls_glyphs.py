# Label smoothing (eps = 0.1, Szegedy et al. 2016) on the glyph data set;
# otherwise the hard-label run.
_base_ = ['./smallconvnet_1xb128-hl_glyphs.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0)))
