from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmcolam/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmcolam',
    version=read_version(),
    description='COLAM (co-learning networks and class-wise soft labels by '
    'alternating minimisation) and its label-regularisation baselines for '
    'MMPretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmcolam', 'mmcolam.*']),
    python_requires='>=3.10',
    # Ranges a user on another machine may use; requirements/runtime.txt pins
    # the stack this project is verified on.
    install_requires=[
        'torch>=1.10',
        'torchvision>=0.11',
        'mmengine>=0.8.3,<1.0.0',
        # MMPretrain 1.2.0 accepts mmcv>=2.0.0,<2.2.0; mmcv-lite provides the
        # same module without compiled ops, which classification does not need.
        'mmpretrain>=1.0.0,<1.3.0',
        'matplotlib',
        'numpy',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache License 2.0',
)
