"""Lights, named criticism and the 约谈问询 ladder: 亮灯, 点名, 约谈完成 (``commands``), the
pure rules (``ladder``) and their run on a 督办事项 (``check``)."""
