"""The Gradio demo's building blocks: `app.py` lays out the page, these modules do the work.

- `models`: the model picker's pipelines, each loaded once and shared by every request.
- `inputs`: uploads (images, clips, plans) checked and brought to the model's frame size.
- `render`: result videos, captioned side-by-side panels, frame strips.
- `tasks`: one function per tab, calling the `fvdm` library for plans and sampling.
"""
