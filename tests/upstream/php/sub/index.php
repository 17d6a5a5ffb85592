<?php
// The index of a subdirectory: GET /sub/ runs it.
echo "index.php of /sub/\n";
