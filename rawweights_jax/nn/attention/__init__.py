"""Attention: the mask (positions), one backend per module behind one signature
`attend(q_BTNH, k_BSKH, v_BSKH, mask) -> out_BTNH` (attend.py), and the modules that own the
projections: grouped-query attention (mha.py) and multi-head latent attention (mla.py)."""
