<?php
// An answer that comes late: /sleep.php?s=N sleeps N seconds first.
sleep((int)($_GET['s'] ?? 5));
echo "woke up\n";
