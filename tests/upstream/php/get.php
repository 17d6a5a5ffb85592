<?php
// The query string, as PHP parsed it.
header('Content-Type: application/json');
echo json_encode($_GET);
