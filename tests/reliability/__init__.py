"""Issue 13, reliability round two: one file a point (test_p<N>_...), each test failing on
the code before the point was fixed."""
