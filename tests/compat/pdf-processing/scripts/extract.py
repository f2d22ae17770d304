#!/usr/bin/env python3
import sys
print("text of", sys.argv[1])
