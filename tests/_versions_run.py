"""Three ball-and-stick cells recorded by signals; run by test_neuron_versions in each NEURON."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from conftest import BallAndStick
    from neuron import h

    import signals
    from signals.recorders import LFP, Dipole, Spikes

    out, table = sys.argv[1], sys.argv[2]
    h.load_file("stdrun.hoc")
    cells = [BallAndStick(i, origin=(60.0 * i, 0, 0)) for i in range(3)]
    if hasattr(h, "usetable_hh"):  # NEURON 9 (8.2's hh has no rate tables)
        h.usetable_hh = int(table)
    probe = signals.electrodes.laminar(x=40, y=0, z=[0, 200, 400])
    signals.record(signals.network.from_neuron(cells), [LFP(probe), Dipole(), Spikes()],
                   tstop=30, path=out, progress=False)


if __name__ == "__main__":
    main()
