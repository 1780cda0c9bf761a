# Progressive self-knowledge distillation, PS-KD (Kim et al., ICCV 2021) with
# PreActResNet-34 on CIFAR-100: targets (1 - alpha_t) * y + alpha_t *
# p_{t-1}(x), the sample's softmax from the previous epoch, alpha_t =
# alpha_T * t / T with alpha_T = 0.8 (the default of the authors' main.py and
# the value of their README's training commands); hard labels in the first
# epoch. The table is 50000 x 100 (float16: 10 MB). Otherwise the hard-label
# run: the authors' own CIFAR-100 schedule (300 epochs, lr / 10 at 150 and
# 225, batch 128, weight decay 5e-4, Nesterov) is not used, so every method
# shares the paper's schedule.
_base_ = ['./preact-resnet34_1xb64-hl_cifar100.py']
model = dict(
    head=dict(
        type='PSKDHead',
        alpha_T=0.8,
        loss=dict(type='CrossEntropyLoss', use_soft=True)))
custom_hooks = [dict(type='PSKDHook')]
