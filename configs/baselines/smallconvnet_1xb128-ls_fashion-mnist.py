# Label smoothing (LS, Szegedy et al. 2016) on Fashion-MNIST (not in the
# paper): cross-entropy against (1 - eps) * one-hot + eps / C, with eps = 0.1
# (the paper gives no eps; 0.1 is Szegedy et al.'s value). Otherwise the
# hard-label run.
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0)))
