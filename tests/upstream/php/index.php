<?php
// The directory index: GET / runs it.
echo "index.php of the root\n";
