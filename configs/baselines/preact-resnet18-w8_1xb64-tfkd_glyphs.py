# Tf-KD_reg (Yuan et al. 2020) on the glyph data set: TfKDRegLoss's defaults,
# as in smallconvnet_1xb128-tfkd_fashion-mnist.py, which explains them.
_base_ = ['./preact-resnet18-w8_1xb64-hl_glyphs.py']
model = dict(head=dict(loss=dict(_delete_=True, type='TfKDRegLoss')))
