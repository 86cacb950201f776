"""metric-hmr: metric multi-person human mesh recovery (DTO, DTO-Humans, MA-HMR).

Two import packages are installed from this repository:

* ``metric_hmr`` from ``projects/metric_hmr`` (models, datasets, metrics, visualizer)
* ``dto_hooks`` from ``dto_hooks`` (the DTO engine and its MMEngine glue)

The repository root itself is never put on ``sys.path``, so its ``configs/``,
``tools/`` and ``datasets/`` folders cannot shadow installed packages.
"""
from setuptools import find_packages, setup

_pkgs = ['metric_hmr'] + ['metric_hmr.' + p for p in find_packages('projects/metric_hmr')]
_pkgs += ['dto_hooks'] + ['dto_hooks.' + p for p in find_packages('dto_hooks')]

setup(
    name='metric-hmr',
    version='0.1.0',
    description='Depth-conditioned Translation Optimization and metric-aware HMR '
                'as an OpenMMLab plugin',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=_pkgs,
    package_dir={'metric_hmr': 'projects/metric_hmr', 'dto_hooks': 'dto_hooks'},
    include_package_data=True,
    package_data={'metric_hmr': ['assets/*'], 'dto_hooks': ['assets/*']},
    # The OpenMMLab stack needs a careful install order (see tools/install.sh);
    # only the loosely pinned pure-Python requirements are declared here.
    install_requires=['numpy', 'scipy', 'tqdm', 'roma'],
    zip_safe=False,
)
