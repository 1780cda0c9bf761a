# Label smoothing (LS, Szegedy et al. 2016) for transfer learning: ResNet-101
# from ImageNet-1k weights, fine-tuned on FGVC-Aircraft (paper Table 4):
# cross-entropy against (1 - eps) * one-hot + eps / C, with eps = 0.1 (the
# paper gives no eps; 0.1 is Szegedy et al.'s value). Otherwise the hard-label
# run.
_base_ = ['./resnet101_in1k-pre_1xb64-hl_fgvc-aircraft.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0)))
