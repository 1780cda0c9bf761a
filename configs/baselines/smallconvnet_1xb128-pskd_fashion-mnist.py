# Progressive self-knowledge distillation, PS-KD (Kim et al., ICCV 2021) on
# Fashion-MNIST (not in the paper): in epoch t of T each training sample is
# trained against (1 - alpha_t) * y + alpha_t * p_{t-1}(x), the model's own
# softmax for that sample in the previous epoch, with alpha_t = 0.8 * t / T
# (alpha_T = 0.8, the authors' default); the first epoch uses the labels.
# PSKDHook keeps the per-sample prediction table (float16, on the CPU) and
# saves it in checkpoints. Batch augmentation is not allowed.
_base_ = ['./smallconvnet_1xb128-hl_fashion-mnist.py']
model = dict(
    head=dict(
        type='PSKDHead',
        alpha_T=0.8,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='PSKDHook')]
