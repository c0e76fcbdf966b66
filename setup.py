"""Package layout that pyproject.toml cannot say on its own: the code in src/posekit, the Hydra configs in conf/.

conf/ (repository root, where users look for it) is installed as the package ``posekit.conf``, for wheels and for
editable installs alike; everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "posekit.conf"],
    package_dir={"": "src", "posekit.conf": "conf"},
)
