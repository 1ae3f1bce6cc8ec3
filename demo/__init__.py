"""The Gradio demo's building blocks: `app.py` puts the page together, these modules build and run it.

The page:
- `tab_generate`, `tab_image_to_video`, `tab_interpolate`, `tab_predict`, `tab_long_video`, `tab_studio`:
  one module per tab, each with a `build(page)` that lays the tab out and wires its events.
- `ui`: what the tabs share: inputs that explain bad values, refusals, ZeroGPU durations, common widgets.
- `sessions`: which page sessions have left, so that their long videos and studio runs stop.

The work (no Gradio):
- `models`: the model picker's pipelines, each loaded once and shared by every request.
- `inputs`: uploads (images, clips, plans) checked and brought to the model's frame size.
- `render`: result videos, captioned side-by-side panels, frame strips, the bounded output folder.
- `tasks`: one function per tab, calling the `fvdm` library for plans and sampling.
"""
