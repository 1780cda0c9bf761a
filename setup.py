import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

#: What MIM (``mim search``, ``mim train mmcolam CONFIG``) and the model hub
#: (``mmpretrain.get_model(NAME, pretrained=True)``) read from an
#: installed package's ``.mim`` folder, as MMPretrain packages it.
MIM_FILES = ('configs', 'tools', 'model-index.yml', 'weights')


def add_mim_extension():
    """Put the configs, tools and model index into ``mmcolam/.mim``: links
    for an editable install, copies for a wheel or sdist."""
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install')):
        mode = 'copy'
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(root, 'mmcolam', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        source, target = osp.join(root, name), osp.join(mim_path, name)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        if mode == 'symlink':
            os.symlink(osp.relpath(source, mim_path), target)
        elif osp.isdir(source):
            shutil.copytree(
                source, target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, target)


def read_version():
    namespace = {}
    with open('mmcolam/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


add_mim_extension()
setup(
    name='mmcolam',
    version=read_version(),
    description='COLAM (co-learning networks and class-wise soft labels by '
    'alternating minimisation) and its label-regularisation baselines for '
    'MMPretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmcolam', 'mmcolam.*']),
    package_data={'mmcolam': ['.mim/**/*', '.mim/*']},
    python_requires='>=3.10',
    # Ranges a user on another machine may use; requirements/runtime.txt pins
    # the stack this project is verified on.
    install_requires=[
        'torch>=1.10',
        'torchvision>=0.11',
        'mmengine>=0.8.3,<1.0.0',
        # MMEngine (up to 0.10.7) imports pkg_resources, which setuptools 81
        # removed; torch 2.14 asks for setuptools>=77, so without this pip
        # installs the newest setuptools and no mmpretrain:: config loads.
        'setuptools<81',
        'mmpretrain>=1.0.0,<1.3.0',
        # MMPretrain imports mmcv but does not require it. MMPretrain 1.2.0
        # accepts mmcv>=2.0.0,<2.2.0; mmcv-lite provides the same module
        # without compiled ops, which classification does not need.
        'mmcv-lite>=2.0.0,<2.2.0',
        'matplotlib',
        'numpy',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache License 2.0',
)
