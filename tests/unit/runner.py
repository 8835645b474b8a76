# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A core runner on subprocess, recording what it ran, for tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess


class Runner(object):
    def __init__(self):
        self.argvs = []

    def __call__(self, argv, environ_update=None, data=None):
        self.argvs.append(list(argv))
        env = dict(os.environ)
        env.update(environ_update or {})
        proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                              stdin=None if data is not None else subprocess.DEVNULL, env=env)
        return (proc.returncode, proc.stdout.decode('utf-8', 'surrogateescape'),
                proc.stderr.decode('utf-8', 'surrogateescape'))
