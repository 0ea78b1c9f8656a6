"""Writes docs/screenshot.svg: the app stopped at a sample's first mismatch, at 120 x 40.

    python docs/make_screenshot.py
"""

import asyncio
from pathlib import Path

from gradtui.config import RunConfig
from gradtui.ui.app import GradTUI

ROOT = Path(__file__).resolve().parent.parent


async def main() -> None:
    app = GradTUI(RunConfig(device="cpu", batch=1000, layers=Path("samples/relu_mask.py")))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        while app.shown_step != 6:
            await asyncio.sleep(0.05)
        await pilot.pause(0.2)
        app.save_screenshot(str(ROOT / "docs" / "screenshot.svg"))


if __name__ == "__main__":
    asyncio.run(main())
