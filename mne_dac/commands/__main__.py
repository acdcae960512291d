"""``python -m mne_dac.commands``: the ``mne-dac`` command, where its script is not on the ``PATH``."""

import sys

from mne_dac.commands import main

sys.exit(main())
