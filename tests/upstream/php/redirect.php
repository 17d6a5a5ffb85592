<?php
// header('Location: …') alone: PHP makes it a 302.
header('Location: /get.php?from=redirect');
